//! Configuration (placeholder crate root; being implemented).
