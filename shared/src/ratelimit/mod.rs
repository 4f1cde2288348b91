//! Rate limiting: the pure policy math, apart from the store that keeps its state.
//!
//! A limit is a deadline cursor per key ([`Store::advance`](crate::store::Store::advance)) moved
//! by the [generic cell rate algorithm](gcra): one conditional write per request, no clock or
//! timer inside the limiter, and nothing stored for keys that have gone quiet.

pub mod gcra;
pub mod limiter;
pub mod policy;
