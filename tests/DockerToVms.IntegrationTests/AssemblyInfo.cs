// The tasks under test exist only on Linux, and so do their tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// These tests change machine-wide state (mounts, binfmt_misc) and restore it; one at a time.
[assembly: DoNotParallelize]
