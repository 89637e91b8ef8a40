"""Names are data, never code: hostile bus, symbol and design names cannot change a design or inject code."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lutnn.errors import FormatError, LutnnError, NetlistError
from lutnn.formats.aiger import format_aiger, parse_aiger
from lutnn.formats.blif import format_blif
from lutnn.formats.jsonfmt import from_json_dict, to_json_dict
from lutnn.formats.names import VERILOG_KEYWORDS, check_port_names, port_name_problem, verilog_ident
from lutnn.formats.verilog import format_testbench, format_verilog
from lutnn.netlist import Bus, NetlistBuilder
from lutnn.tools import have_tool
from lutnn.verify import check_equivalence

needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")
EVIL_BUS = "y\n.names a[0] a[1] ky"


def gate(table: int, out: str = "y", name: str = "t"):
    b = NetlistBuilder(name, k=2)
    a = b.add_input("a", 2)
    b.add_output(out, [b.add_lut([int(a[0]), int(a[1])], table)])
    return b.build()


def test_json_bus_name_with_newline_is_refused():
    d = to_json_dict(gate(0b1000))
    d["outputs"][0]["name"] = EVIL_BUS
    with pytest.raises(FormatError, match="control character"):
        from_json_dict(json.loads(json.dumps(d)))


@pytest.mark.parametrize("fmt", [format_blif, format_verilog, format_aiger])
def test_writers_refuse_a_port_name_that_is_code(fmt):
    """A netlist built in code with the hostile name never reaches a file (AND verified equal to OR before)."""
    with pytest.raises(NetlistError):
        fmt(gate(0b1000, EVIL_BUS))


@needs_yosys
def test_and_cannot_verify_equal_to_or_through_names():
    with pytest.raises(LutnnError):
        check_equivalence(gate(0b1000, EVIL_BUS), gate(0b1110, EVIL_BUS))


def test_aiger_symbol_with_space_is_refused():
    """``o0 y z`` made synth exit 0 with changed ports (two BLIF outputs y and z)."""
    data = b"aag 3 2 0 1 1\n2\n4\n6\n6 2 4\ni0 a\ni1 b\no0 y z\n"
    with pytest.raises(FormatError, match="symbol table"):
        parse_aiger(data)
    assert parse_aiger(data.replace(b"y z", b"y_z")).outputs[0].name == "y_z"


def test_design_name_never_reaches_code_or_comments():
    """A design name with a newline injected a Verilog module whose ``initial $display`` ran in the simulator."""
    nl = gate(0b1000)
    nl.name = 'x;\ninitial $display("pwned");\nmodule evil'
    for text in (format_verilog(nl), format_testbench(nl, 4, "v.in.hex", "v.exp.hex"), format_blif(nl)):
        assert '$display("pwned")' not in text
        assert all(not ln.lstrip().startswith(('initial $display("pwned', "module evil")) for ln in text.splitlines())
    assert b"pwned" not in format_aiger(nl).replace(b"_", b"") or b'$display("pwned")' not in format_aiger(nl)
    d = to_json_dict(gate(0b1000))
    d["name"] = nl.name
    with pytest.raises(FormatError, match="control character"):
        from_json_dict(d)
    with pytest.raises(LutnnError, match="file name"):
        format_testbench(gate(1), 4, 'a");\n$finish;//', None)


def test_port_name_rule():
    assert port_name_problem("x") is None and port_name_problem("cpu.a$1[3]") is None
    for bad in ["", "a b", "a\tb", "a\x00", "a#b", "a\\b", 'a"b', "é", "x" * 2000]:
        assert port_name_problem(bad), bad
    assert check_port_names([Bus("y[0]", 1)], []) is not None  # would read back as bus y
    assert check_port_names([Bus("y", 2), Bus("y[1]", 1)], []) is not None  # bit names collide
    assert check_port_names([Bus("y[1]", 1), Bus("y", 1)], [Bus("o", 2)]) is None


def test_full_systemverilog_keyword_list():
    for kw in ["priority", "unique", "unique0", "class", "logic", "bit", "int", "interface", "property", "let"]:
        assert kw in VERILOG_KEYWORDS and verilog_ident(kw) == f"\\{kw} "
    assert len(VERILOG_KEYWORDS) >= 248
    assert verilog_ident("ok_1") == "ok_1"


@needs_yosys
def test_keyword_named_design_reads_back_as_systemverilog(tmp_path):
    from lutnn.tools.yosys import read_verilog

    b = NetlistBuilder("priority", k=2)
    a = b.add_input("logic", 2)
    b.add_output("class", [b.and_(int(a[0]), int(a[1]))])
    nl = b.build()
    (tmp_path / "p.v").write_text(format_verilog(nl))
    back = read_verilog(tmp_path / "p.v")
    assert [x.name for x in back.inputs] == ["logic"] and [x.name for x in back.outputs] == ["class"]
    assert check_equivalence(nl, back).equivalent


@needs_yosys
def test_verilog_reader_reads_no_other_files(tmp_path):
    from lutnn.tools.yosys import read_verilog

    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "data.hex").write_text("1\n0\n")
    (secret / "inc.v").write_text("module x(input a, output y); assign y = a; endmodule\n")
    d = tmp_path / "d"
    d.mkdir()
    cases = {
        "abs_include.v": f'`include "{secret / "inc.v"}"\n',
        "up_include.v": '`include "../secret/inc.v"\n',
        "macro_include.v": '`define F "x.v"\n`include `F\n',
        "paste.v": "`define R(x) $read``x\nmodule m(input a, output y); assign y = a; endmodule\n",
        "readmem.v": (
            "module m(input [0:0] a, output y); reg r [0:1];\n"
            f'initial $readmemh("{secret / "data.hex"}", r);\nassign y = r[a]; endmodule\n'
        ),
        "fopen.v": 'module m(input a, output y); integer f; initial f = $fopen("/etc/passwd", "r"); '
        "assign y = a; endmodule\n",
    }
    for name, text in cases.items():
        (d / name).write_text(text)
        with pytest.raises(FormatError, match=r"refused|pasting|opens files"):
            read_verilog(d / name)
    # a plain neighbour may be included and read
    (d / "rom.hex").write_text("0\n1\n")
    (d / "body.vh").write_text("assign y = r[a];\n")
    (d / "ok.v").write_text(
        'module m(input [0:0] a, output y); reg r [0:1];\ninitial $readmemh("rom.hex", r);\n`include "body.vh"\nendmodule\n'
    )
    nl = read_verilog(d / "ok.v")
    from lutnn.sim import simulate

    assert simulate(nl, np.array([[0], [1]], np.uint8))[:, 0].tolist() == [0, 1]


def test_blif_refuses_control_characters():
    """Python's splitlines() breaks at \\x1c and \\u2028, Yosys does not: one file, two netlists."""
    from lutnn.formats.blif import parse_blif

    for c in ["\x1c", "\u2028", "\x00", "\x85"]:
        with pytest.raises(FormatError, match="control character"):
            parse_blif(f".model m\n.inputs a\n.outputs y\n.names a y{c}1 1\n.end\n")


def test_input_and_output_bits_may_not_share_a_name():
    """Found by fuzzing: input bus x (x[1] is a bit) and a 1-bit output bus named x[1] broke the BLIF round trip."""
    data = b"aag 3 3 0 2 0\n2\n4\n6\n2\n6\ni0 x[0]\ni1 x[1]\ni2 x[2]\no0 y[0]\no1 x[1]\n"
    with pytest.raises(FormatError, match="both an input and an output"):
        parse_aiger(data)
