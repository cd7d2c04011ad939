"""The binding's constants are a hand copy of include/mapfile.h: this test reads the header and
fails on any difference, so the two can never drift apart."""

import pathlib
import re

import mapfile

HEADER = pathlib.Path(__file__).resolve().parents[3] / "include" / "mapfile.h"


def header_defines():
    defines = {}
    for match in re.finditer(r"^#define (MAPFILE_\w+) \(?(-?\w+)\)?$", HEADER.read_text(), re.M):
        name, value = match.groups()
        defines[name] = 2**64 - 1 if value == "UINT64_MAX" else int(value, 0)
    return defines


def test_status_codes_match_the_header():
    defines = header_defines()
    codes = {name[len("MAPFILE_ERR_"):]: value for name, value in defines.items()
             if name.startswith("MAPFILE_ERR_")}
    assert len(codes) >= 14
    assert {name: getattr(mapfile, name) for name in codes} == codes
    assert mapfile.OK == defines["MAPFILE_OK"]


def test_other_constants_match_the_header():
    defines = header_defines()
    assert mapfile.NPOS == defines["MAPFILE_NPOS"]
    assert mapfile.ABI_VERSION == defines["MAPFILE_ABI_VERSION"]
    assert mapfile.OPTIONS_VERSION == defines["MAPFILE_OPTIONS_VERSION"]
    assert mapfile.MODES == {"r": defines["MAPFILE_MODE_READ_ONLY"],
                             "r+": defines["MAPFILE_MODE_READ_WRITE"],
                             "c": defines["MAPFILE_MODE_COPY_ON_WRITE"]}
    assert mapfile.ADVICE == {name[len("MAPFILE_ADVICE_"):].lower(): value
                              for name, value in defines.items()
                              if name.startswith("MAPFILE_ADVICE_")}
    assert (mapfile.FLAG_POPULATE, mapfile.FLAG_GUARD_RAW, mapfile.FLAG_HUGE_PAGES) == (
        defines["MAPFILE_FLAG_POPULATE"], defines["MAPFILE_FLAG_GUARD_RAW"],
        defines["MAPFILE_FLAG_HUGE_PAGES"])
    assert (mapfile.CREATE_NEVER, mapfile.CREATE_NEW, mapfile.CREATE_IF_MISSING) == (
        defines["MAPFILE_CREATE_NEVER"], defines["MAPFILE_CREATE_NEW"],
        defines["MAPFILE_CREATE_IF_MISSING"])
