from tests.app.redemption.conftest import harness

__all__ = ["harness"]
