"""``python -m examples.partner_app``: serve the partner app on its public URL's port (8001)."""

from __future__ import annotations

import uvicorn

from examples.partner_app import Config, create_app


def main() -> None:
    config = Config.from_env()
    print(f"partner app on {config.public_url} (issuer {config.issuer})")
    uvicorn.run(create_app(config), host="127.0.0.1", port=config.port, log_level="warning")


if __name__ == "__main__":
    main()
