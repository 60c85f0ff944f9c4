"""Identity documents: RUC check digit (with a property test), DNI check character, the other
catalogue 06 shapes and e-mail addresses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cuentas_cli.errors import ValidationError
from cuentas_cli.rules.identity import (
    RUC_PREFIXES,
    dni_check_chars,
    dni_to_ruc,
    guess_doc_type,
    normalise_doc_type,
    ruc_check_digit,
    ruc_to_dni,
    validate_ce,
    validate_dni,
    validate_document,
    validate_email,
    validate_passport,
    validate_ruc,
)
from tests.conftest import fuzz_examples

# peru-reference.md, worked by hand (including both edge cases of the algorithm).
REFERENCE_RUCS = ["20131312955", "20512333797", "20100070970", "20139490691", "10054148289"]

# The valid numbers listed in python-stdnum's tests/test_pe_ruc.doctest (found online by its
# author); used here as test data only, stdnum is not a dependency.
STDNUM_RUCS = """
10000655959 10010734121 10040578108 10053358671 10054148289 10058437277 10060535138 10098295343
10103206851 10108344739 10156612001 10164655909 10165791474 10166518861 10167089505 10167323290
10198029632 10214859268 10243761927 10254430752 10266040640 10266906451 10277354981 10411119373
10414493071 10425240311 10427556960 10433604640 10436581772 10452880437 15484032987 15501941597
17155542071 17322796196 20100255325 20109980936 20113732084 20123458444 20131372770 20134636972
20137663474 20139490691 20142529913 20145391076 20154546520 20171312141 20171781648 20172245065
20172284044 20193655492 20198432386 20201571350 20206309815 20209462452 20212025179 20212516661
20222194564 20222955433 20252290029 20253602571 20296742563 20312356776 20347268683 20354374286
20357089795 20382245068 20393125064 20401283952 20406257127 20421551520 20429794146 20438510398
20448098932 20450258882 20450417433 20451063902 20451392710 20451408811 20451420276 20451428170
20453836364 20454368453 20455554617 20462300787 20472972571 20480597754 20480615329 20481149119
20482221450 20489418933 20493238087 20493298900 20493374002 20495188389 20496055285 20498592521
20504684378 20508379049 20510299761 20512525432 20514261262 20514397245 20518376145 20524105501
20524305004 20524354129 20525274226 20525413447 20530815847 20537999731 20541492047 20552756453
""".split()


def test_stdnum_list_is_complete():
    assert len(STDNUM_RUCS) == 112 and len(set(STDNUM_RUCS)) == 112


@pytest.mark.parametrize("ruc", REFERENCE_RUCS + STDNUM_RUCS)
def test_published_valid_rucs_are_accepted(ruc):
    assert validate_ruc(ruc) == ruc


@pytest.mark.parametrize("value,message", [
    ("20123456789", "RUC 20123456789: check digit should be 6, not 9"),
    ("2013131295", "RUC 2013131295: must be 11 digits"),
    ("30131312955", "RUC 30131312955: prefix 30 is not one of 10, 15, 16, 17, 20"),
    ("2013131295X", "RUC 2013131295X: must be 11 digits"),
    ("", "RUC : must be 11 digits"),
])
def test_invalid_rucs_say_what_is_wrong(value, message):
    with pytest.raises(ValidationError) as info:
        validate_ruc(value)
    assert info.value.message == message


def _r(ruc: str) -> int:
    """S mod 11 of the first ten digits."""
    return sum(int(d) * w for d, w in zip(ruc, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))) % 11


valid_rucs = st.builds(
    lambda prefix, body: prefix + body + str(ruc_check_digit(prefix + body)),
    st.sampled_from(RUC_PREFIXES),
    st.text("0123456789", min_size=8, max_size=8),
)
single_digit_changes = st.tuples(st.integers(0, 10), st.integers(1, 9))


def _change(ruc: str, position: int, step: int) -> str:
    return ruc[:position] + str((int(ruc[position]) + step) % 10) + ruc[position + 1:]


def _rejected(value: str) -> bool:
    try:
        validate_ruc(value)
    except ValidationError:
        return True
    return False


@settings(max_examples=fuzz_examples(500))
@given(valid_rucs, single_digit_changes)
def test_every_single_digit_change_is_rejected_but_the_algorithms_own_blind_spot(ruc, change):
    """A single changed digit is always rejected, except where the algorithm itself cannot see
    it: r = 0 and r = 10 both give check digit 1, so a change moving S mod 11 between 0 and 10
    yields another valid RUC (python-stdnum and SUNAT's form accept it too)."""
    position, step = change
    changed = _change(ruc, position, step)
    if not _rejected(changed):
        assert position < 10 and {_r(ruc), _r(changed)} == {0, 10}, (ruc, changed)


@settings(max_examples=fuzz_examples(300))
@given(valid_rucs.filter(lambda r: _r(r) not in (0, 10)))
def test_outside_the_blind_spot_every_single_digit_change_is_rejected(ruc):
    for position in range(11):
        for step in range(1, 10):
            assert _rejected(_change(ruc, position, step)), (ruc, position, step)


@pytest.mark.parametrize("ruc", REFERENCE_RUCS + STDNUM_RUCS)
def test_single_digit_changes_of_published_rucs(ruc):
    for position in range(11):
        for step in range(1, 10):
            changed = _change(ruc, position, step)
            assert _rejected(changed) or {_r(ruc), _r(changed)} == {0, 10}


def test_the_blind_spot_exists():
    """Pinned so nobody 'fixes' the algorithm into rejecting real RUCs: 20139490691 has r = 0;
    20839490691 has r = 10; both end in 1 and both are valid by SUNAT's rule."""
    assert validate_ruc("20139490691") and validate_ruc("20839490691")
    assert (_r("20139490691"), _r("20839490691")) == (0, 10)


# --- DNI ----------------------------------------------------------------------------------------


def test_dni_and_its_check_character():
    assert dni_check_chars("10117410") == ("2", "G")
    for value in ("10117410", "101174102", "10117410G", "10117410-2", "10117410-g", " 10117410 "):
        assert validate_dni(value) == "10117410"
    assert dni_to_ruc("10117410") == "10101174102"
    assert ruc_to_dni("10054148289") == "05414828"


@pytest.mark.parametrize("value,message", [
    ("10117410-5", "DNI 10117410-5: check character should be 2 or G, not 5"),
    ("10117410X", "DNI 10117410X: check character should be 2 or G, not X"),
    ("1011741", "DNI 1011741: must be 8 digits (optionally followed by its check character)"),
    ("1011741A", "DNI 1011741A: must be 8 digits (optionally followed by its check character)"),
])
def test_invalid_dni(value, message):
    with pytest.raises(ValidationError) as info:
        validate_dni(value)
    assert info.value.message == message


def test_ruc_to_dni_needs_prefix_10():
    with pytest.raises(ValidationError, match="only a RUC starting with 10 holds a DNI"):
        ruc_to_dni("20131312955")


@given(st.text("0123456789", min_size=8, max_size=8))
def test_every_dni_has_exactly_one_digit_and_one_letter(dni):
    digit, letter = dni_check_chars(dni)
    assert validate_dni(dni + digit) == dni and validate_dni(dni + letter) == dni
    wrong = next(c for c in "0123456789" if c != digit)
    with pytest.raises(ValidationError):
        validate_dni(dni + wrong)


# --- other documents, catalogue 06, e-mail -------------------------------------------------------------


def test_other_document_shapes():
    assert validate_ce("001234567") == "001234567"
    assert validate_passport("ab-123 456") == "AB123456"
    with pytest.raises(ValidationError, match="must be 1 to 12 characters, not 13"):
        validate_ce("1234567890123")
    with pytest.raises(ValidationError, match="only letters and digits"):
        validate_passport("AB_1234")
    assert validate_document("A", "d123456789012345"[:15]) == ("A", "D12345678901234")
    assert validate_document("0", "X-99") == ("0", "X99")
    assert validate_document("06", "20131312955") == ("6", "20131312955")


def test_catalogue_06_codes():
    assert [normalise_doc_type(x) for x in ("6", "06", "RUC", "dni", "1", "4", "ce", "7", "pasaporte", "a", "0")] == [
        "6", "6", "6", "1", "1", "4", "4", "7", "7", "A", "0"]
    with pytest.raises(ValidationError, match="use a SUNAT catalogue 06 code: 0 .*, 1 \\(DNI\\), 4 .*, 6 \\(RUC\\)"):
        normalise_doc_type("5")
    assert (guess_doc_type("20131312955"), guess_doc_type("10117410"), guess_doc_type("10117410G"),
            guess_doc_type("AB123")) == ("6", "1", "1", None)


@pytest.mark.parametrize("good", ["cobranzas@empresa.pe", "a.b+c@sub.dominio.com.pe", " x@y.co "])
def test_valid_emails(good):
    assert validate_email(good) == good.strip()


@pytest.mark.parametrize("bad", ["", "sin-arroba", "a@b", "a@@b.pe", "a b@c.pe", "a@b..pe", "a@-b.pe", "@b.pe"])
def test_invalid_emails(bad):
    with pytest.raises(ValidationError, match="expected an address like cobranzas@empresa.pe"):
        validate_email(bad)
