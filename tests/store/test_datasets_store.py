"""The store of data sets kept across a refresh: put, get, owners, eviction, permissions, side files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from analysis.store.datasets import (
    KIND_UPLOAD,
    MAX_IDLE_DAYS,
    MAX_SIDES,
    SECONDS_PER_DAY,
    DataSetChoice,
    DataSetStore,
    KeptSide,
    StoreLimits,
    choice_key,
    content_hash,
    is_token,
    new_token,
)
from analysis.store.disk import DATA_DIR_ENV, DEFAULT_DATA_DIR, data_dir

DAY = SECONDS_PER_DAY


def upload(text: str, name: str = "policies.csv", **settings: str | None) -> tuple[DataSetChoice, bytes]:
    data = text.encode("utf-8")
    return DataSetChoice(name=name, version=content_hash(data), **settings), data  # type: ignore[arg-type]


def files_in(store: DataSetStore) -> list[str]:
    return sorted(p.name for p in (store.root / "files").iterdir())


def links_in(store: DataSetStore) -> list[str]:
    return sorted(p.name for p in (store.root / "links").iterdir())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_kept_data_set_comes_back_byte_for_byte_with_its_mapping(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("保单号,生效日期\nP1,2020-01-01\n", name="我的[保单](x).csv", preset_toml="[settings]\ngrace_days = 30\n")
    choice = DataSetChoice(**{**choice.__dict__, "sheet": "明细", "study_date": "2024-03-31"})
    token = new_token()
    store.put(token, choice, data, owner=None, now=1_000.0)
    assert store.get(token, owner=None, now=2_000.0) == (choice, data)
    # On disk: the bytes as uploaded under their content hash, one link named by a hash of the token.
    assert files_in(store) == [choice.version]
    assert (store.root / "files" / choice.version).read_bytes() == data
    (link,) = links_in(store)
    assert token not in link and token not in (store.root / "links" / link).read_text(encoding="utf-8")
    record = json.loads((store.root / "links" / link).read_text(encoding="utf-8"))
    assert record["saved"] == 1_000.0 and record["used"] == 2_000.0  # a hit counts as a use


def test_files_are_0600_in_0700_folders(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    store.put(new_token(), choice, data, owner=None, now=0.0)
    for folder in (store.root, store.root / "files", store.root / "links"):
        assert mode(folder) == 0o700, folder
    for path in [*(store.root / "files").iterdir(), *(store.root / "links").iterdir()]:
        assert mode(path) == 0o600, path


def test_a_folder_made_by_hand_with_wide_permissions_is_narrowed(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    choice, data = upload("a\n1\n")
    DataSetStore(root).put(new_token(), choice, data, owner=None, now=0.0)
    assert mode(root) == 0o700


def test_unknown_malformed_and_path_like_tokens_open_nothing(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    store.put(new_token(), choice, data, owner=None, now=0.0)
    for token in (new_token(), "", "short", "../../files/" + choice.version, "A" * 31 + "/", None, 42):
        assert store.get(token, owner=None, now=1.0) is None, token
    assert is_token(new_token()) and len(new_token()) == 32  # 24 random bytes = 192 bits, URL-safe


def test_a_token_opens_only_for_its_owner(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    alice, anonymous = new_token(), new_token()
    store.put(alice, choice, data, owner="https://login.example.com|alice", now=0.0)
    store.put(anonymous, choice, data, owner=None, now=0.0)
    assert store.get(alice, owner="https://login.example.com|alice", now=1.0) == (choice, data)
    # Another account, or nobody (sign-in off), gets what an unknown token gets: nothing.
    assert store.get(alice, owner="https://login.example.com|bob", now=1.0) is None
    assert store.get(alice, owner=None, now=1.0) is None
    # A link kept with sign-in off does not open for a signed-in account either.
    assert store.get(anonymous, owner="https://login.example.com|alice", now=1.0) is None
    assert not store.forget(alice, owner="https://login.example.com|bob")
    with pytest.raises(ValueError, match="another owner"):
        store.put(alice, choice, data, owner="https://login.example.com|bob", now=2.0)
    # The account itself is never written: only a hash of it.
    assert not any("alice" in (store.root / "links" / name).read_text() for name in links_in(store))
    assert store.forget(alice, owner="https://login.example.com|alice")
    assert store.get(alice, owner="https://login.example.com|alice", now=3.0) is None


def test_the_same_file_under_two_tokens_is_stored_once(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    first, second = new_token(), new_token()
    store.put(first, choice, data, owner=None, now=0.0)
    store.put(second, DataSetChoice(**{**choice.__dict__, "preset_toml": "[settings]\n"}), data, owner=None, now=1.0)
    assert files_in(store) == [choice.version] and len(links_in(store)) == 2
    assert store.get(first, owner=None, now=2.0) == (choice, data)
    assert store.get(second, owner=None, now=2.0)[0].preset_toml == "[settings]\n"  # type: ignore[index]


def test_a_new_mapping_under_the_same_token_replaces_the_old_one(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    token = new_token()
    store.put(token, choice, data, owner=None, now=0.0)
    remapped = DataSetChoice(**{**choice.__dict__, "preset_toml": '[columns]\npolicy_id = "a"\n', "study_date": "2024-06-30"})
    store.put(token, remapped, data, owner=None, now=5.0)
    assert store.get(token, owner=None, now=6.0) == (remapped, data)
    assert len(links_in(store)) == 1


def test_the_bundled_sample_is_kept_without_its_bytes(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    sample = DataSetChoice(name="sample_policies.csv", version="0" * 24, study_date="2025-12-31", is_sample=True)
    token = new_token()
    store.put(token, sample, None, owner=None, now=0.0)
    assert store.get(token, owner=None, now=1.0) == (sample, None)
    assert not (store.root / "files").exists()


def test_bytes_that_do_not_match_the_version_are_refused(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, _ = upload("a\n1\n")
    with pytest.raises(ValueError, match="do not match"):
        store.put(new_token(), choice, b"a\n2\n", owner=None, now=0.0)
    with pytest.raises(ValueError, match="not a link token"):
        store.put("not-a-token", choice, b"a\n1\n", owner=None, now=0.0)


def test_a_damaged_file_or_link_reads_as_unknown_and_is_swept(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    (choice, data), (other, other_data) = upload("a\n1\n"), upload("b\n2\n")
    damaged_file, damaged_link = new_token(), new_token()
    store.put(damaged_file, choice, data, owner=None, now=0.0)
    store.put(damaged_link, other, other_data, owner=None, now=0.0)
    (store.root / "files" / choice.version).write_bytes(b"a\n9\n")  # same size, other content
    assert store.get(damaged_file, owner=None, now=1.0) is None
    for name in links_in(store):
        path = store.root / "links" / name
        if json.loads(path.read_text())["choice"]["version"] == other.version:
            path.write_text("{not json")
    assert store.get(damaged_link, owner=None, now=1.0) is None
    swept = store.evict(now=2.0)
    # The unreadable link goes, and with it the file only it needed; the other link (its file damaged) stays
    # until it is used or ages out.
    assert (swept.links, swept.files) == (1, 1)
    assert files_in(store) == [choice.version]


def test_a_link_unused_for_30_days_expires(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    token = new_token()
    store.put(token, choice, data, owner=None, now=0.0)
    # Used at day 30 exactly: still there (the limit is "more than 30 days unused"); that use restarts the clock.
    assert store.get(token, owner=None, now=MAX_IDLE_DAYS * DAY) is not None
    assert store.get(token, owner=None, now=2 * MAX_IDLE_DAYS * DAY) is not None
    assert store.get(token, owner=None, now=3 * MAX_IDLE_DAYS * DAY + 1) is None
    swept = store.evict(now=3 * MAX_IDLE_DAYS * DAY + 1)
    assert (swept.links, swept.files) == (1, 1)
    assert files_in(store) == [] and links_in(store) == []


def test_at_most_n_files_least_recently_used_first(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets", limits=StoreLimits(max_files=2))
    kept = [upload(f"a\n{i}\n", name=f"f{i}.csv") for i in range(4)]
    tokens = [new_token() for _ in kept]
    store.put(tokens[0], *kept[0], owner=None, now=1.0)
    store.put(tokens[1], *kept[1], owner=None, now=2.0)
    assert store.get(tokens[0], owner=None, now=3.0) is not None  # f0 used again: f1 is now the least recent
    store.put(tokens[2], *kept[2], owner=None, now=4.0)
    # Last uses: f0 at 3, f1 at 2, f2 at 4 → keep f2 and f0; f1 goes with its link.
    assert store.get(tokens[1], owner=None, now=5.0) is None
    assert files_in(store) == sorted([kept[0][0].version, kept[2][0].version])
    store.put(tokens[3], *kept[3], owner=None, now=6.0)
    # Last uses now: f3 at 6, f2 at 4, f0 at 3 (f1's failed get at 5 used nothing) → f0 goes.
    assert files_in(store) == sorted([kept[2][0].version, kept[3][0].version])
    assert len(links_in(store)) == 2


def test_at_most_m_bytes_least_recently_used_first(tmp_path: Path) -> None:
    # Three files of 100 bytes with a 250-byte limit: newest 100 + next 100 = 200 ≤ 250; the third would make 300.
    store = DataSetStore(tmp_path / "datasets", limits=StoreLimits(max_bytes=250))
    kept = [upload("x" * 99 + str(i)) for i in range(3)]
    assert all(len(data) == 100 for _, data in kept)
    tokens = [new_token() for _ in kept]
    for i, token in enumerate(tokens):
        store.put(token, *kept[i], owner=None, now=float(i))
    assert store.get(tokens[0], owner=None, now=10.0) is None
    assert files_in(store) == sorted(choice.version for choice, _ in kept[1:])


def test_the_data_set_just_saved_survives_even_above_the_limit(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets", limits=StoreLimits(max_bytes=50))
    small, big = upload("a\n1\n"), upload("y" * 80)
    small_token, big_token = new_token(), new_token()
    store.put(small_token, *small, owner=None, now=0.0)
    store.put(big_token, *big, owner=None, now=1.0)
    # 80 bytes alone exceed 50: the new file stays, everything older goes.
    assert store.get(big_token, owner=None, now=2.0) == big
    assert store.get(small_token, owner=None, now=2.0) is None
    assert files_in(store) == [big[0].version]


def test_at_most_k_links_least_recently_used_first(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets", limits=StoreLimits(max_links=2))
    choice, data = upload("a\n1\n")
    tokens = [new_token() for _ in range(3)]
    for i, token in enumerate(tokens):
        store.put(token, choice, data, owner=None, now=float(i))
    assert store.get(tokens[0], owner=None, now=9.0) is None
    assert all(store.get(token, owner=None, now=9.0) is not None for token in tokens[1:])
    assert files_in(store) == [choice.version]  # still needed by the two links left


def test_the_data_directory_setting(tmp_path: Path) -> None:
    assert data_dir({}) == DEFAULT_DATA_DIR
    assert DEFAULT_DATA_DIR.name == ".lapselens" and (DEFAULT_DATA_DIR.parent / "app.py").is_file()
    assert data_dir({DATA_DIR_ENV: "  "}) == DEFAULT_DATA_DIR
    assert data_dir({DATA_DIR_ENV: str(tmp_path / "kept")}) == tmp_path / "kept"
    assert data_dir({DATA_DIR_ENV: "~/lapselens-data"}) == Path("~/lapselens-data").expanduser().resolve()


# --- side files: a payment history, a campaign list kept with the data set ------------------------------------


def side(text: str, name: str = "缴费.csv", **settings: str | None) -> tuple[KeptSide, bytes]:
    data = text.encode("utf-8")
    return KeptSide(kind=KIND_UPLOAD, name=name, version=content_hash(data), **settings), data


def test_side_files_come_back_with_their_link_and_survive_a_new_mapping(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("保单号,生效日期\nP1,2020-01-01\n")
    history, history_data = side("保单号,应缴日期\nP1,2020-01-01\n", sheet="缴费", book=choice_key(choice))
    listed = KeptSide(kind="sample", name="sample_campaign_list.csv", version="sample-1")
    token = new_token()
    store.put(token, choice, data, owner=None, now=0.0)
    store.put_side(token, "payments", history, history_data, owner=None, now=1.0)
    store.put_side(token, "campaigns", listed, None, owner=None, now=2.0)
    assert store.sides(token, owner=None, now=3.0) == {"payments": history, "campaigns": listed}
    assert store.side_bytes(token, "payments", history.version, owner=None, now=3.0) == history_data
    assert store.side_bytes(token, "payments", "0" * 24, owner=None, now=3.0) is None  # another version: not this one
    assert store.side_bytes(token, "campaigns", listed.version, owner=None, now=3.0) is None  # the sample's keeps no bytes
    # Bytes as files under their content hash (the sample's list has none); the record is JSON, with no token in it.
    assert files_in(store) == sorted([choice.version, history.version])
    (link,) = links_in(store)
    record = json.loads((store.root / "links" / link).read_text(encoding="utf-8"))
    assert record["sides"]["payments"]["book"] == choice_key(choice) and record["sides"]["campaigns"]["kind"] == "sample"
    # A new mapping of the same file under the same token keeps the side files (each names its own book).
    remapped = DataSetChoice(**{**choice.__dict__, "study_date": "2024-06-30"})
    store.put(token, remapped, data, owner=None, now=4.0)
    assert store.sides(token, owner=None, now=5.0)["payments"].book == choice_key(choice) != choice_key(remapped)
    assert store.get(token, owner=None, now=5.0) == (remapped, data)


def test_a_dropped_side_file_is_gone_and_its_bytes_with_it(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    history, history_data = side("h\n1\n")
    token = new_token()
    store.put(token, choice, data, owner=None, now=0.0)
    store.put_side(token, "payments", history, history_data, owner=None, now=1.0)
    store.put_side(token, "payments", None, None, owner=None, now=2.0)
    assert store.sides(token, owner=None, now=3.0) == {}
    assert store.side_bytes(token, "payments", history.version, owner=None, now=3.0) is None
    assert files_in(store) == [choice.version]  # the history's file: no link needs it any more
    # A new history replaces the old one in its slot.
    store.put_side(token, "payments", history, history_data, owner=None, now=4.0)
    other, other_data = side("h\n2\n", name="another.csv")
    store.put_side(token, "payments", other, other_data, owner=None, now=5.0)
    assert store.sides(token, owner=None, now=6.0) == {"payments": other}
    assert files_in(store) == sorted([choice.version, other.version])


def test_side_files_open_only_for_the_links_owner(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    history, history_data = side("h\n1\n")
    alice, bob = "https://login.example.com|alice", "https://login.example.com|bob"
    token = new_token()
    store.put(token, choice, data, owner=alice, now=0.0)
    store.put_side(token, "payments", history, history_data, owner=alice, now=1.0)
    for stranger in (bob, None):
        assert store.sides(token, owner=stranger, now=2.0) == {}
        assert store.side_bytes(token, "payments", history.version, owner=stranger, now=2.0) is None
        with pytest.raises(ValueError, match="no such link"):
            store.put_side(token, "payments", None, None, owner=stranger, now=2.0)
    assert store.sides(token, owner=alice, now=3.0) == {"payments": history}
    # No link under the token at all, or an idle one: nothing to attach a side file to.
    with pytest.raises(ValueError, match="no such link"):
        store.put_side(new_token(), "payments", history, history_data, owner=alice, now=3.0)
    with pytest.raises(ValueError, match="no such link"):
        store.put_side(token, "campaigns", history, history_data, owner=alice, now=3.0 + (MAX_IDLE_DAYS + 1) * DAY)


def test_malformed_side_files_are_refused(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    choice, data = upload("a\n1\n")
    history, history_data = side("h\n1\n")
    token = new_token()
    store.put(token, choice, data, owner=None, now=0.0)
    with pytest.raises(ValueError, match="do not match"):
        store.put_side(token, "payments", history, b"h\n2\n", owner=None, now=1.0)
    with pytest.raises(ValueError, match="slot"):
        store.put_side(token, "../files", history, history_data, owner=None, now=1.0)
    with pytest.raises(ValueError, match="kind"):
        store.put_side(token, "payments", KeptSide(kind="Up/load", name="x", version="v"), None, owner=None, now=1.0)
    with pytest.raises(ValueError, match="content hash"):
        store.put_side(token, "payments", KeptSide(kind=KIND_UPLOAD, name="x", version="../x"), b"", owner=None, now=1.0)
    for i in range(MAX_SIDES):
        store.put_side(token, f"slot_{'abcdefgh'[i]}", KeptSide(kind="sample", name="s", version="1"), None, owner=None, now=1.0)
    with pytest.raises(ValueError, match="too many"):
        store.put_side(token, "one_more", KeptSide(kind="sample", name="s", version="1"), None, owner=None, now=1.0)
    # A side file of a kind the store does not know (a later source of side tables) keeps its description only.
    assert store.sides(token, owner=None, now=2.0)["slot_a"] == KeptSide(kind="sample", name="s", version="1")


def test_a_side_file_counts_toward_the_limits_and_goes_with_its_link(tmp_path: Path) -> None:
    # Three files of 100 bytes with a 250-byte limit: a book with its history (200) fills it; an older link's book goes.
    store = DataSetStore(tmp_path / "datasets", limits=StoreLimits(max_bytes=250))
    (old, old_data), (book, book_data) = upload("x" * 99 + "0"), upload("x" * 99 + "1")
    history, history_data = side("h" * 99 + "2")
    old_token, token = new_token(), new_token()
    store.put(old_token, old, old_data, owner=None, now=0.0)
    store.put(token, book, book_data, owner=None, now=1.0)
    assert store.get(old_token, owner=None, now=2.0) is not None  # 200 bytes: both books fit; the old one is now the newest use
    store.put_side(token, "payments", history, history_data, owner=None, now=3.0)
    assert store.get(old_token, owner=None, now=4.0) is None, "the link just saved with its history keeps its 200 bytes"
    assert files_in(store) == sorted([book.version, history.version])
    # The link with its history is evicted by a newer one: its history's file goes with it.
    newer, newer_data = upload("x" * 99 + "3")
    store.put(new_token(), newer, newer_data, owner=None, now=5.0)
    assert files_in(store) == [newer.version]  # 100 + 200 > 250: the link and both its files go together
    assert store.sides(token, owner=None, now=6.0) == {}


def test_the_count_limit_counts_side_files(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets", limits=StoreLimits(max_files=2))
    (old, old_data), (book, book_data) = upload("a\n0\n"), upload("a\n1\n")
    history, history_data = side("h\n1\n")
    old_token, token = new_token(), new_token()
    store.put(old_token, old, old_data, owner=None, now=0.0)
    store.put(token, book, book_data, owner=None, now=1.0)
    store.put_side(token, "payments", history, history_data, owner=None, now=2.0)
    assert store.get(old_token, owner=None, now=3.0) is None
    assert files_in(store) == sorted([book.version, history.version])


def test_the_plain_sample_and_the_configured_source_carry_side_files_without_bytes(tmp_path: Path) -> None:
    store = DataSetStore(tmp_path / "datasets")
    sample = DataSetChoice(name="sample_policies.csv", version="0" * 24, is_sample=True)
    source = DataSetChoice(name="公司保单库", version="source-" + "a" * 24, preset_toml="[columns]\n")
    listed, listed_data = side("保单号,组别,入组日期\n", name="名单.csv")
    for choice in (sample, source):
        token = new_token()
        store.put(token, choice, None, owner=None, now=0.0)
        store.put_side(token, "campaigns", listed, listed_data, owner=None, now=1.0)
        assert store.get(token, owner=None, now=2.0) == (choice, None)
        assert store.side_bytes(token, "campaigns", listed.version, owner=None, now=2.0) == listed_data
    assert files_in(store) == [listed.version]
    # Damaged on disk: the side file reads as nothing, the data set still opens.
    (store.root / "files" / listed.version).write_bytes(b"x" * len(listed_data))
    assert store.side_bytes(token, "campaigns", listed.version, owner=None, now=3.0) is None
    assert store.sides(token, owner=None, now=3.0) == {} and store.get(token, owner=None, now=3.0) == (source, None)
