enum MoltFormatPlaceholder {}
