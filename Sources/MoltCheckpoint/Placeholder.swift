public enum MoltCheckpointPlaceholder {}
