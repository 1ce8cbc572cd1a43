"""The web shell's own pages: the workbench home and the settings hub."""
