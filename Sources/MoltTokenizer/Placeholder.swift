enum MoltTokenizerPlaceholder {}
