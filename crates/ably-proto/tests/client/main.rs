//! Conformance tests of the sans-IO client, ported from the UTS test specs
//! in ably/specification `uts/realtime/unit` (connection, auth, client).
//! Each test names its Test ID; `docs/conformance.md` maps every Test ID to
//! its test or to the reason it does not apply.

mod auth;
mod chan_smoke;
mod conn_lifecycle;
mod conn_ping;
mod conn_recovery;
mod conn_transport;
mod harness;
mod realtime_client;
