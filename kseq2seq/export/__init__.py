"""SavedModel export of a Translator."""

from kseq2seq.export.saved_model import export_translator

__all__ = ["export_translator"]
