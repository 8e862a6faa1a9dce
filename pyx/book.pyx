# SPDX-License-Identifier: Apache-2.0
# engine.book (being written)
from engine.types cimport *
