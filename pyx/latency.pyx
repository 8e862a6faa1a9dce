# SPDX-License-Identifier: Apache-2.0
# engine.latency (being written)
from engine.types cimport *
