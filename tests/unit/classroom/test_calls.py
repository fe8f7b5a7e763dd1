"""The classroom service's input checks: the browser's offer, target words, call ids."""

from __future__ import annotations

import pytest

from fluentio.classroom import calls
from fluentio.classroom.errors import CallRefused
from fluentio.classroom.instructions import MAX_VOCABULARY

OFFER = (
    "v=0\r\no=- 46117326 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
)


def test_offer_sdp_checks() -> None:
    assert calls.check_offer_sdp(OFFER) == OFFER
    assert calls.check_offer_sdp(OFFER.encode()) == OFFER
    for bad in (
        "",
        "hello",
        "v=0\r\nm=video 9 UDP 96\r\n",
        OFFER + "<script>\r\n",
        b"\xff\xfe",
        "v=0\r\nx=\x01\r\n",
    ):
        with pytest.raises(CallRefused) as refused:
            calls.check_offer_sdp(bad)
        assert (refused.value.code, refused.value.http_status) == ("bad_sdp", 400)
    with pytest.raises(CallRefused) as refused:
        calls.check_offer_sdp(OFFER + "a=x:" + "y" * calls.MAX_SDP_BYTES + "\r\n")
    assert (refused.value.code, refused.value.http_status) == ("sdp_too_large", 413)


def test_vocabulary_parsing() -> None:
    assert calls.parse_vocabulary(None) == []
    assert calls.parse_vocabulary(" deadline, budget ,,Deadline, follow  up") == [
        "deadline",
        "budget",
        "follow up",
    ]
    assert calls.parse_vocabulary(["a", "b"]) == ["a", "b"]
    with pytest.raises(CallRefused, match="at most 10"):
        calls.parse_vocabulary([f"w{i}" for i in range(11)])
    with pytest.raises(CallRefused, match="40 characters"):
        calls.parse_vocabulary("x" * 41)


def test_one_vocabulary_limit_refused_past_it_never_cut() -> None:
    words = [f"word{i}" for i in range(MAX_VOCABULARY)]
    # The page's text box: commas or one word a line.
    assert calls.parse_vocabulary("\n".join(words)) == words
    with pytest.raises(CallRefused) as refused:
        calls.parse_vocabulary(", ".join([*words, "one more"]))
    assert refused.value.http_status == 400
    assert f"at most {MAX_VOCABULARY} target words; you gave {MAX_VOCABULARY + 1}" in refused.value.message


def test_call_id_from_location() -> None:
    assert calls._call_id_from_location("/v1/realtime/calls/rtc_abc123") == "rtc_abc123"
    assert calls._call_id_from_location("https://api.openai.com/v1/realtime/calls/rtc_X-1/") == "rtc_X-1"
    assert calls._call_id_from_location(None) is None
    assert calls._call_id_from_location("/v1/realtime/calls/../../x y") is None
