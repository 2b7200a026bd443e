public enum MoltRuntimePlaceholder {}
