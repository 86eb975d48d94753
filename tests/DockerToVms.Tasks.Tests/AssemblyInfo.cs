// The tasks under test exist only on Linux, and so do their tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Test classes work in their own temporary directories, so they can run side by side.
[assembly: Parallelize(Scope = ExecutionScope.ClassLevel)]
