//! End-to-end: the tokio client against an in-process ably-local. The
//! scenarios are `ably_async::testkit`'s, shared with ably-async-std;
//! each runs on a current-thread runtime, which also shows that the
//! driver never blocks the executor.

use std::future::Future;

use ably_async::testkit::{self as scenario, Kit};
use ably_local::tls::TlsIdentity;
use ably_tokio::{Format, Tokio, sse};

fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Kit) -> F) {
    run_with(Kit::start(), scenario);
}

fn run_with<F: Future<Output = ()>>(kit: Kit, scenario: impl FnOnce(Kit) -> F) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(scenario(kit.clone()));
    drop(runtime);
}

#[test]
fn connects_with_a_key_pings_and_closes() {
    run(scenario::connects_with_a_key_pings_and_closes::<Tokio>);
}

#[test]
fn connects_with_an_auth_callback_returning_a_signed_token_request() {
    run(scenario::connects_with_an_auth_callback_returning_a_signed_token_request::<Tokio>);
}

#[test]
fn a_failing_auth_callback_is_reported() {
    run(scenario::a_failing_auth_callback_is_reported::<Tokio>);
}

#[test]
fn invalid_options_fail_synchronously() {
    run(scenario::invalid_options_fail_synchronously::<Tokio>);
}

#[test]
fn rest_time_and_request_token() {
    run(scenario::rest_time_and_request_token::<Tokio>);
}

#[test]
fn publish_and_subscribe_string_json_binary_in_json() {
    run(|kit| scenario::publish_and_subscribe_every_data_kind::<Tokio>(kit, Format::Json));
}

#[test]
fn publish_and_subscribe_string_json_binary_in_msgpack() {
    run(|kit| scenario::publish_and_subscribe_every_data_kind::<Tokio>(kit, Format::MsgPack));
}

#[test]
fn encrypted_channel_round_trip() {
    run(scenario::encrypted_channel_round_trip::<Tokio>);
}

#[test]
fn presence_enter_get_leave() {
    run(scenario::presence_enter_get_leave::<Tokio>);
}

#[test]
fn enter_client_on_behalf_of_others() {
    run(scenario::enter_client_on_behalf_of_others::<Tokio>);
}

#[test]
fn history_returns_published_messages_in_pages() {
    run(scenario::history_returns_published_messages_in_pages::<Tokio>);
}

#[test]
fn rest_publish_history_and_presence() {
    run(scenario::rest_publish_history_and_presence::<Tokio>);
}

#[test]
fn a_subscription_left_full_ends_with_80020() {
    run(scenario::a_subscription_left_full_ends_with_80020::<Tokio>);
}

#[test]
fn state_changes_attach_and_detach() {
    run(scenario::state_changes_attach_and_detach::<Tokio>);
}

#[test]
fn resumes_after_the_service_drops_the_transport() {
    run(scenario::resumes_after_the_service_drops_the_transport::<Tokio>);
}

#[test]
fn tls_to_a_plain_service_fails_with_80000() {
    run(scenario::tls_to_a_plain_service_fails_with_80000::<Tokio>);
}

#[test]
fn wss_and_https_with_an_extra_root() {
    let (identity, root) = TlsIdentity::private_ca().expect("a test CA");
    run_with(
        Kit::start_tls(identity, root),
        scenario::wss_and_https_with_an_extra_root::<Tokio>,
    );
}

#[test]
fn wss_without_the_root_fails_with_80000_unknown_issuer() {
    let (identity, root) = TlsIdentity::private_ca().expect("a test CA");
    run_with(
        Kit::start_tls(identity, root),
        scenario::wss_without_the_root_fails_with_80000_unknown_issuer::<Tokio>,
    );
}

#[test]
fn new_outside_a_runtime_is_an_error() {
    let opts = ably_tokio::ClientOptions::new("appId.keyId:secret");
    let err = ably_tokio::Realtime::new(opts).expect_err("no runtime");
    assert_eq!(err.code(), 40000);
}

#[test]
fn a_driver_polled_by_the_caller_runs_the_client() {
    run(scenario::a_driver_polled_by_the_caller_runs_the_client::<Tokio>);
}

#[test]
fn sse_messages_of_every_kind_arrive() {
    run(scenario::sse_messages_of_every_kind_arrive::<Tokio>);
}

#[test]
fn sse_presence_events_arrive_with_a_requested_token() {
    run(scenario::sse_presence_events_arrive_with_a_requested_token::<Tokio>);
}

#[test]
fn sse_a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated() {
    run(scenario::sse_a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated::<Tokio>);
}

#[test]
fn sse_a_refused_key_gives_its_error() {
    run(scenario::sse_a_refused_key_gives_its_error::<Tokio>);
}

#[test]
fn sse_a_token_expiring_mid_stream_ends_it_with_40142() {
    run(scenario::sse_a_token_expiring_mid_stream_ends_it_with_40142::<Tokio>);
}

#[test]
fn sse_subscribe_of_the_crate_runs_on_tokio() {
    run(|kit| async move {
        let opts = kit.options(Format::Json);
        let subscribe = ably_tokio::sse::subscribe(&opts, ["named"], sse::SseOptions::new());
        let stream = sendable(subscribe).await.expect("subscribes");
        assert!(stream.ended().is_none());
    });
}

#[test]
fn sse_subscribe_outside_a_runtime_is_an_error() {
    let opts = ably_tokio::ClientOptions::new("appId.keyId:secret");
    let subscribe = ably_tokio::sse::subscribe(&opts, ["a"], sse::SseOptions::new());
    let err = futures_executor::block_on(subscribe).expect_err("no runtime");
    assert_eq!(err.code(), 40000);
}

/// The futures of the API are `Send`: this only compiles with one.
fn sendable<F: Future + Send>(future: F) -> F {
    future
}
