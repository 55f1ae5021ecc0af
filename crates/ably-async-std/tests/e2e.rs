//! End-to-end: the async-std client against an in-process ably-local.
//! The scenarios are `ably_async::testkit`'s, shared with ably-tokio; each
//! runs twice: under `async_std::task::block_on` and under
//! `smol::block_on`, since nothing in this crate needs async-std's own
//! executor to poll its futures.

use std::future::Future;

use ably_async::testkit::{self as scenario, Kit};
use ably_async_std::sse::SseOptions;
use ably_async_std::{AsyncStd, Format};
use ably_local::tls::TlsIdentity;

fn on_async_std<F: Future<Output = ()>>(scenario: impl FnOnce(Kit) -> F) {
    let kit = Kit::start();
    async_std::task::block_on(scenario(kit.clone()));
}

fn on_smol<F: Future<Output = ()>>(scenario: impl FnOnce(Kit) -> F) {
    let kit = Kit::start();
    smol::block_on(scenario(kit.clone()));
}

/// A kit serving TLS with a certificate of a new private CA.
fn tls_kit() -> Kit {
    let (identity, root) = TlsIdentity::private_ca().expect("a test CA");
    Kit::start_tls(identity, root)
}

#[test]
fn connects_with_a_key_pings_and_closes_on_async_std() {
    on_async_std(scenario::connects_with_a_key_pings_and_closes::<AsyncStd>);
}

#[test]
fn connects_with_a_key_pings_and_closes_on_smol() {
    on_smol(scenario::connects_with_a_key_pings_and_closes::<AsyncStd>);
}

#[test]
fn connects_with_an_auth_callback_returning_a_signed_token_request_on_async_std() {
    on_async_std(
        scenario::connects_with_an_auth_callback_returning_a_signed_token_request::<AsyncStd>,
    );
}

#[test]
fn connects_with_an_auth_callback_returning_a_signed_token_request_on_smol() {
    on_smol(scenario::connects_with_an_auth_callback_returning_a_signed_token_request::<AsyncStd>);
}

#[test]
fn a_failing_auth_callback_is_reported_on_async_std() {
    on_async_std(scenario::a_failing_auth_callback_is_reported::<AsyncStd>);
}

#[test]
fn a_failing_auth_callback_is_reported_on_smol() {
    on_smol(scenario::a_failing_auth_callback_is_reported::<AsyncStd>);
}

#[test]
fn invalid_options_fail_synchronously_on_async_std() {
    on_async_std(scenario::invalid_options_fail_synchronously::<AsyncStd>);
}

#[test]
fn invalid_options_fail_synchronously_on_smol() {
    on_smol(scenario::invalid_options_fail_synchronously::<AsyncStd>);
}

#[test]
fn rest_time_and_request_token_on_async_std() {
    on_async_std(scenario::rest_time_and_request_token::<AsyncStd>);
}

#[test]
fn rest_time_and_request_token_on_smol() {
    on_smol(scenario::rest_time_and_request_token::<AsyncStd>);
}

#[test]
fn publish_and_subscribe_string_json_binary_in_json_on_async_std() {
    on_async_std(|kit| {
        scenario::publish_and_subscribe_every_data_kind::<AsyncStd>(kit, Format::Json)
    });
}

#[test]
fn publish_and_subscribe_string_json_binary_in_json_on_smol() {
    on_smol(|kit| scenario::publish_and_subscribe_every_data_kind::<AsyncStd>(kit, Format::Json));
}

#[test]
fn publish_and_subscribe_string_json_binary_in_msgpack_on_async_std() {
    on_async_std(|kit| {
        scenario::publish_and_subscribe_every_data_kind::<AsyncStd>(kit, Format::MsgPack)
    });
}

#[test]
fn publish_and_subscribe_string_json_binary_in_msgpack_on_smol() {
    on_smol(|kit| {
        scenario::publish_and_subscribe_every_data_kind::<AsyncStd>(kit, Format::MsgPack)
    });
}

#[test]
fn encrypted_channel_round_trip_on_async_std() {
    on_async_std(scenario::encrypted_channel_round_trip::<AsyncStd>);
}

#[test]
fn encrypted_channel_round_trip_on_smol() {
    on_smol(scenario::encrypted_channel_round_trip::<AsyncStd>);
}

#[test]
fn presence_enter_get_leave_on_async_std() {
    on_async_std(scenario::presence_enter_get_leave::<AsyncStd>);
}

#[test]
fn presence_enter_get_leave_on_smol() {
    on_smol(scenario::presence_enter_get_leave::<AsyncStd>);
}

#[test]
fn enter_client_on_behalf_of_others_on_async_std() {
    on_async_std(scenario::enter_client_on_behalf_of_others::<AsyncStd>);
}

#[test]
fn enter_client_on_behalf_of_others_on_smol() {
    on_smol(scenario::enter_client_on_behalf_of_others::<AsyncStd>);
}

#[test]
fn history_returns_published_messages_in_pages_on_async_std() {
    on_async_std(scenario::history_returns_published_messages_in_pages::<AsyncStd>);
}

#[test]
fn history_returns_published_messages_in_pages_on_smol() {
    on_smol(scenario::history_returns_published_messages_in_pages::<AsyncStd>);
}

#[test]
fn rest_publish_history_and_presence_on_async_std() {
    on_async_std(scenario::rest_publish_history_and_presence::<AsyncStd>);
}

#[test]
fn rest_publish_history_and_presence_on_smol() {
    on_smol(scenario::rest_publish_history_and_presence::<AsyncStd>);
}

#[test]
fn a_subscription_left_full_ends_with_80020_on_async_std() {
    on_async_std(scenario::a_subscription_left_full_ends_with_80020::<AsyncStd>);
}

#[test]
fn a_subscription_left_full_ends_with_80020_on_smol() {
    on_smol(scenario::a_subscription_left_full_ends_with_80020::<AsyncStd>);
}

#[test]
fn state_changes_attach_and_detach_on_async_std() {
    on_async_std(scenario::state_changes_attach_and_detach::<AsyncStd>);
}

#[test]
fn state_changes_attach_and_detach_on_smol() {
    on_smol(scenario::state_changes_attach_and_detach::<AsyncStd>);
}

#[test]
fn resumes_after_the_service_drops_the_transport_on_async_std() {
    on_async_std(scenario::resumes_after_the_service_drops_the_transport::<AsyncStd>);
}

#[test]
fn resumes_after_the_service_drops_the_transport_on_smol() {
    on_smol(scenario::resumes_after_the_service_drops_the_transport::<AsyncStd>);
}

#[test]
fn tls_to_a_plain_service_fails_with_80000_on_async_std() {
    on_async_std(scenario::tls_to_a_plain_service_fails_with_80000::<AsyncStd>);
}

#[test]
fn tls_to_a_plain_service_fails_with_80000_on_smol() {
    on_smol(scenario::tls_to_a_plain_service_fails_with_80000::<AsyncStd>);
}

#[test]
fn wss_and_https_with_an_extra_root_on_async_std() {
    let kit = tls_kit();
    async_std::task::block_on(scenario::wss_and_https_with_an_extra_root::<AsyncStd>(
        kit.clone(),
    ));
}

#[test]
fn wss_and_https_with_an_extra_root_on_smol() {
    let kit = tls_kit();
    smol::block_on(scenario::wss_and_https_with_an_extra_root::<AsyncStd>(
        kit.clone(),
    ));
}

#[test]
fn wss_without_the_root_fails_with_80000_unknown_issuer_on_async_std() {
    let kit = tls_kit();
    async_std::task::block_on(
        scenario::wss_without_the_root_fails_with_80000_unknown_issuer::<AsyncStd>(kit.clone()),
    );
}

#[test]
fn wss_without_the_root_fails_with_80000_unknown_issuer_on_smol() {
    let kit = tls_kit();
    smol::block_on(
        scenario::wss_without_the_root_fails_with_80000_unknown_issuer::<AsyncStd>(kit.clone()),
    );
}

#[test]
fn a_driver_polled_by_the_caller_runs_the_client_on_async_std() {
    on_async_std(scenario::a_driver_polled_by_the_caller_runs_the_client::<AsyncStd>);
}

#[test]
fn a_driver_polled_by_the_caller_runs_the_client_on_smol() {
    on_smol(scenario::a_driver_polled_by_the_caller_runs_the_client::<AsyncStd>);
}

#[test]
fn sse_messages_of_every_kind_arrive_on_async_std() {
    on_async_std(scenario::sse_messages_of_every_kind_arrive::<AsyncStd>);
}

#[test]
fn sse_messages_of_every_kind_arrive_on_smol() {
    on_smol(scenario::sse_messages_of_every_kind_arrive::<AsyncStd>);
}

#[test]
fn sse_presence_events_arrive_with_a_requested_token_on_async_std() {
    on_async_std(scenario::sse_presence_events_arrive_with_a_requested_token::<AsyncStd>);
}

#[test]
fn sse_presence_events_arrive_with_a_requested_token_on_smol() {
    on_smol(scenario::sse_presence_events_arrive_with_a_requested_token::<AsyncStd>);
}

#[test]
fn sse_a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated_on_async_std() {
    on_async_std(
        scenario::sse_a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated::<AsyncStd>,
    );
}

#[test]
fn sse_a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated_on_smol() {
    on_smol(
        scenario::sse_a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated::<AsyncStd>,
    );
}

#[test]
fn sse_a_refused_key_gives_its_error_on_async_std() {
    on_async_std(scenario::sse_a_refused_key_gives_its_error::<AsyncStd>);
}

#[test]
fn sse_a_refused_key_gives_its_error_on_smol() {
    on_smol(scenario::sse_a_refused_key_gives_its_error::<AsyncStd>);
}

#[test]
fn sse_a_token_expiring_mid_stream_ends_it_with_40142_on_async_std() {
    on_async_std(scenario::sse_a_token_expiring_mid_stream_ends_it_with_40142::<AsyncStd>);
}

#[test]
fn sse_a_token_expiring_mid_stream_ends_it_with_40142_on_smol() {
    on_smol(scenario::sse_a_token_expiring_mid_stream_ends_it_with_40142::<AsyncStd>);
}

#[test]
fn sse_subscribe_of_the_crate_runs_on_smol() {
    on_smol(|kit| async move {
        let opts = kit.options(Format::Json);
        let stream = ably_async_std::sse::subscribe(&opts, ["named"], SseOptions::new())
            .await
            .expect("subscribes");
        assert!(stream.ended().is_none());
    });
}
