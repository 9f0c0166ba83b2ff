//! FOCUS input (placeholder crate root; being implemented).
