//! The service layer shared by the HTML pages (`pages/`) and the JSON API (`api/`): reading a
//! filter from a query, answering the charges browser and the review queue, running review
//! actions and validating overrides. Both front ends call these functions, so a page and its API
//! twin cannot drift apart, and neither imports the other (STYLE §1).
//!
//! Services take the store and the caches; they return domain values or [`crate::AppError`],
//! never HTML or JSON. [`users`] is also called by the CLI's `users` commands, so the account
//! rules hold the same in a browser and in a shell.

pub mod charges;
pub mod review;
pub mod settings;
pub mod users;
