"""The tuners and objectives by name: importable without keras-tuner, for the command's parser."""

TUNERS = ("random", "bayesian", "hyperband")
# objective -> the direction keras-tuner optimises it in
OBJECTIVES = {"val_loss": "min", "val_bleu": "max", "loss": "min", "val_masked_accuracy": "max"}
