"""`vlpeft doctor`: the table of decoders (ok / wrong shape / missing), ffmpeg, Java, CUDA, threads."""

import json

import numpy as np

from vlpeft import doctor
from vlpeft.cli import main
from vlpeft.video import decode


def test_doctor_table_on_this_machine(capsys):
    rc = main(["doctor"])
    out = capsys.readouterr().out
    assert rc == 0 and out.rstrip().endswith("status: ok")
    for backend in ("torchcodec", "pyav"):  # installed by envs/requirements.txt, correct here
        assert all(line.split()[-1] == "ok" for line in out.splitlines() if line.startswith(f"decoder {backend}"))
    for row in ("ffmpeg", "java (METEOR)", "CUDA devices", "torch threads", "CPU"):
        assert any(line.startswith(row) for line in out.splitlines()), row
    assert "AVX-512" in out


def test_doctor_reports_wrong_shape_and_missing(monkeypatch, capsys):
    # decord's real fault (4 or 6 channels on some AVX-512 CPUs), injected
    monkeypatch.setitem(
        decode.DECODERS, "decord", lambda info, times: (np.zeros((len(times), *info.display_size, 4), np.uint8), times)
    )
    real = decode.backend_available
    monkeypatch.setattr(decode, "backend_available", lambda name: name != "pyav" and real(name))
    rc = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0  # torchcodec still works
    assert set(report["decoders"]["pyav"].values()) == {"missing"}
    assert all(v.startswith("wrong shape (4 channels") for v in report["decoders"]["decord"].values())
    assert set(report["decoders"]["torchcodec"].values()) == {"ok"}
    text = doctor.format_report(report)
    assert "wrong shape (4 channels" in text and "missing" in text


def test_doctor_fails_without_a_working_decoder(monkeypatch, capsys):
    for name in decode.BACKENDS:
        monkeypatch.setitem(
            decode.DECODERS,
            name,
            lambda info, times: (np.full((len(times), *info.display_size, 3), 255, np.uint8), times),
        )
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "wrong pixels" in out and "status: PROBLEM" in out
