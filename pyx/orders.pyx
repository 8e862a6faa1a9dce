# SPDX-License-Identifier: Apache-2.0
# engine.orders (being written)
from engine.types cimport *
