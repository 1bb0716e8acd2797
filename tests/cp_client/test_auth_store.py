"""auth.json: atomic 0600 writes, one login per control plane, refresh tokens never lost."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from tensormesh_cli.auth_store import AuthStore, Login, auth_path, new_login
from tensormesh_cli.errors import CliError

BASE = "http://127.0.0.1:8470"
OTHER = "https://api.example.test"


def login(base: str = BASE, **changes: object) -> Login:
    fields: dict[str, object] = {
        "controlplane_base": base,
        "access_token": "tmcp_a",
        "refresh_token": "tmrt_a",
        "expires_at": 2_000_000_000.0,
    }
    fields.update(changes)
    return Login(**fields)  # type: ignore[arg-type]


def test_auth_path_follows_tm_config_home(tmp_path: Path) -> None:
    assert auth_path({"TM_CONFIG_HOME": str(tmp_path)}) == tmp_path / "auth.json"


def test_save_writes_mode_0600_atomically_and_reads_back(tmp_path: Path) -> None:
    store = AuthStore(tmp_path / "cfg" / "auth.json")
    store.save(login(user_email="ada@example.com"))
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["auth.json"]  # no temp left
    document = json.loads(store.path.read_text())
    assert document["version"] == 1
    assert document["logins"][BASE]["expires_at"] == "2033-05-18T03:33:20Z"
    assert store.get(BASE) == login(user_email="ada@example.com")


def test_logins_of_other_control_planes_are_kept(tmp_path: Path) -> None:
    store = AuthStore(tmp_path / "auth.json")
    store.save(login(OTHER, access_token="tmcp_other"))
    store.save(login())
    store.save(login(access_token="tmcp_b"))
    assert {base: entry.access_token for base, entry in store.logins().items()} == {
        OTHER: "tmcp_other",
        BASE: "tmcp_b",
    }
    assert store.remove(BASE) == [BASE]
    assert list(store.logins()) == [OTHER]
    assert store.remove(None) == [OTHER]
    assert store.logins() == {}


def test_a_refresh_reply_without_refresh_token_keeps_the_old_one() -> None:
    refreshed = login().with_tokens("tmcp_b", None, 3600, now=1000.0)
    assert (refreshed.access_token, refreshed.refresh_token) == ("tmcp_b", "tmrt_a")
    assert refreshed.expires_at == 4600.0
    rotated = login().with_tokens("tmcp_c", "tmrt_c", None, now=1000.0)
    assert (rotated.refresh_token, rotated.expires_at) == ("tmrt_c", None)


def test_expiry_has_a_safety_margin() -> None:
    entry = new_login(BASE, "tmcp", "tmrt", expires_in=3600, now=0.0)
    assert not entry.expired(now=3500.0)
    assert entry.expired(now=3560.0)
    assert not new_login(BASE, "tmcp", None, expires_in=None, now=0.0).expired(now=1e12)


def test_malformed_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text("{not json")
    store = AuthStore(path)
    with pytest.raises(CliError, match=r"malformed .*auth\.json.*tm auth login"):
        store.logins()
    with pytest.raises(CliError):
        store.save(login())
    store.save(login(), replace_unreadable=True)  # a new login may replace it
    assert store.get(BASE) == login()


def test_entry_without_access_token_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"version": 1, "logins": {BASE: {"refresh_token": "x"}}}))
    with pytest.raises(CliError, match="no access_token"):
        AuthStore(path).get(BASE)


def test_file_is_never_seen_half_written(tmp_path: Path) -> None:
    store = AuthStore(tmp_path / "auth.json")
    store.save(login())
    stop = threading.Event()
    seen: list[str] = []

    def read_continuously() -> None:
        while not stop.is_set():
            seen.append(store.path.read_text())

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for number in range(200):
            store.save(login(access_token=f"tmcp_{number}" + "x" * 2000))
    finally:
        stop.set()
        reader.join()
    assert seen
    for text in seen:
        json.loads(text)  # every read is a whole document


def test_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    store = AuthStore(tmp_path / "auth.json")
    with store.locked():
        other = AuthStore(tmp_path / "auth.json")
        errors: list[Exception] = []

        def try_lock() -> None:
            try:
                with other.locked(timeout=0.2):
                    pass
            except CliError as exc:
                errors.append(exc)

        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join()
    assert len(errors) == 1
    assert "locked" in str(errors[0])
    with other.locked(timeout=0.2):  # free again
        pass
