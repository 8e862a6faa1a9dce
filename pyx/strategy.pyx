# SPDX-License-Identifier: Apache-2.0
# engine.strategy (being written)
from engine.types cimport *
