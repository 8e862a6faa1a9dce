# SPDX-License-Identifier: Apache-2.0
"""Pure-Python reference twins of the compiled core: the readable specification and the
oracle of the parity tests. Not a fallback: selected only with ENGINE_NO_EXTENSIONS=1."""
