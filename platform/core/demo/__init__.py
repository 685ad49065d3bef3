"""Demo data for `make run`: real DICOM from pydicom's test files and a generated chest-like set."""
