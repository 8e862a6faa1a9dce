# SPDX-License-Identifier: Apache-2.0
# engine.signing (being written)
from engine.types cimport *
