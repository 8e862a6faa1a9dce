# SPDX-License-Identifier: Apache-2.0
# engine.codec (being written)
from engine.types cimport *
