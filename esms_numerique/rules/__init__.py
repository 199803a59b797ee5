"""The programme's rules as code: pure Python, no Django import (see docs/regles.md)."""
