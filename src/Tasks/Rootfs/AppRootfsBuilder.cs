using System.Text;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// Makes the root filesystem of an <c>app</c>-level base from its plan: the planned paths are
/// copied out of the full root filesystem with tar, which keeps owners, modes, times, links
/// and extended attributes as they are, and the cut-down accounts and package status are
/// written beside them.
/// </summary>
public static class AppRootfsBuilder
{
    /// <summary>Builds the derived root filesystem in <paramref name="target"/>, a new folder.</summary>
    public static async Task BuildAsync(AppRootfsPlan plan, string source, string target,
        IToolRunner runner, CancellationToken cancellation)
    {
        var work = Path.GetDirectoryName(Path.GetFullPath(target))!;
        var list = Path.Combine(work, "paths.list");
        var archive = Path.Combine(work, "paths.tar");

        // NUL-separated, since a path in an image may hold any other character.
        var names = new StringBuilder();
        foreach (var path in plan.Paths)
        {
            names.Append('.').Append(path).Append('\0');
        }

        await File.WriteAllTextAsync(list, names.ToString(), HostTools.Utf8, cancellation)
            .ConfigureAwait(false);
        Directory.CreateDirectory(target);
        try
        {
            await RunAsync(runner, source, cancellation,
                "--create", "--file=" + archive, "--directory=" + source, "--no-recursion",
                "--null", "--files-from=" + list, "--numeric-owner", "--xattrs",
                "--xattrs-include=*").ConfigureAwait(false);
            await RunAsync(runner, source, cancellation,
                "--extract", "--file=" + archive, "--directory=" + target, "--numeric-owner",
                "--same-owner", "--preserve-permissions", "--xattrs", "--xattrs-include=*")
                .ConfigureAwait(false);
        }
        finally
        {
            File.Delete(list);
            File.Delete(archive);
        }

        foreach (var (path, content) in plan.GeneratedFiles())
        {
            var file = Path.Combine(target, path.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, content, HostTools.Utf8, cancellation)
                .ConfigureAwait(false);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite
                | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }

    private static async Task RunAsync(IToolRunner runner, string source,
        CancellationToken cancellation, params string[] arguments)
    {
        var result = await runner.RunAsync(new ToolCommand("tar", arguments), cancellation)
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new DtvException("CommandFailed", "tar " + string.Join(' ', arguments),
                result.ExitCode, result.Tail);
        }
    }
}
