from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
