"""The demo competition (placeholder until written)."""


def load_demo(if_empty: bool = False) -> None:
    raise NotImplementedError
