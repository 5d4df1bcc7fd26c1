//! forewarn model
