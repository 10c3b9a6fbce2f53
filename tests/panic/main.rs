//! The panic boundary, in a process of its own so that it can own the global log subscriber.
//!
//! The test's own app adds routes that panic (in a handler, below the router; in a route outside
//! the API table; in a streamed body) beside a slow route, on a server with one worker. The
//! panics answer the opaque 500 in the standard body, the log gets the cause and a backtrace,
//! and the slow request in flight on the same worker completes.

#[cfg(test)]
mod boundary;
