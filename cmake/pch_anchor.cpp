// Anchor translation unit: gives the PCH target (and empty layers) something to compile.
