enum MoltQuantPlaceholder {}
