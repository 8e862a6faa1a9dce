# SPDX-License-Identifier: Apache-2.0
# engine.signals (being written)
from engine.types cimport *
