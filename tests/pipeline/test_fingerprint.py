from datawheel.pipeline import code_fingerprint


def _one(x: int) -> int:
    return x + 1


def _two(x: int) -> int:
    return x + 2


def test_fingerprint_tells_code_apart() -> None:
    assert code_fingerprint(_one) == code_fingerprint(_one)
    assert code_fingerprint(_one) != code_fingerprint(_two)
    assert len(code_fingerprint(len)) == 32  # a built-in has no source; its name stands in
