# SPDX-License-Identifier: Apache-2.0
# engine.risk (being written)
from engine.types cimport *
