"""Ids of the special tokens, shared by the model, the decoders and the text."""

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3
SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")
