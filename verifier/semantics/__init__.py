"""VEX IR -> Z3: machine state, the Iop table, the arm64g_* helper calls, and symbolic execution."""
