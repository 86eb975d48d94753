using System.Globalization;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// Makes two bootstraps of one recipe, from the same archive content, hold the same files:
/// what debootstrap, dpkg and apt leave that depends on the day or on chance is removed or
/// set from SOURCE_DATE_EPOCH. The trim already empties logs, apt's lists and caches,
/// ldconfig's auxiliary cache and the machine id; this removes random seeds and dpkg's and
/// debconf's <c>-old</c> backups, and dates the password changes in /etc/shadow (and its
/// backup) at SOURCE_DATE_EPOCH's day, the way Debian's reproducible images do.
/// </summary>
public static class RootfsNormaliser
{
    private static readonly string[] s_randomSeeds =
    [
        "var/lib/systemd/random-seed", "var/lib/urandom/random-seed",
    ];

    private static readonly string[] s_backupFolders = ["var/lib/dpkg", "var/cache/debconf"];

    private static readonly string[] s_shadowFiles = ["etc/shadow", "etc/shadow-"];

    /// <summary>Normalises the root filesystem after it was trimmed at the level.</summary>
    /// <param name="root">The root filesystem.</param>
    /// <param name="level">The trim level: <see cref="TrimLevel.None"/> removes nothing.</param>
    /// <param name="sourceDate">SOURCE_DATE_EPOCH; null leaves the shadow dates as they are.</param>
    /// <returns>The number of files changed or removed.</returns>
    public static int Normalise(string root, TrimLevel level, DateTimeOffset? sourceDate)
    {
        var changed = 0;
        if (sourceDate is { } date)
        {
            var day = (date.ToUnixTimeSeconds() / 86400).ToString(CultureInfo.InvariantCulture);
            foreach (var relative in s_shadowFiles)
            {
                changed += SetPasswordChangeDay(root, relative, day) ? 1 : 0;
            }
        }

        if (level == TrimLevel.None)
        {
            return changed;
        }

        foreach (var relative in s_randomSeeds)
        {
            changed += RemoveFile(root, relative) ? 1 : 0;
        }

        foreach (var folder in s_backupFolders)
        {
            var path = Path.Combine(root, folder);
            if (!RootfsTrimmer.IsFreeOfLinks(root, folder) || !Directory.Exists(path))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(path, "*-old"))
            {
                changed += RemoveFile(root, Path.GetRelativePath(root, file)) ? 1 : 0;
            }
        }

        return changed;
    }

    /// <summary>
    /// The shadow file with the third field (the day of the last password change) of every
    /// entry that has one set to the day; the other fields are kept as they are.
    /// </summary>
    public static string SetPasswordChangeDay(string shadow, string day)
    {
        var lines = shadow.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split(':');
            if (fields.Length > 2 && fields[2].Length > 0)
            {
                fields[2] = day;
                lines[i] = string.Join(':', fields);
            }
        }

        return string.Join('\n', lines);
    }

    private static bool SetPasswordChangeDay(string root, string relative, string day)
    {
        var path = Path.Combine(root, relative);
        if (!RootfsTrimmer.IsFreeOfLinks(root, relative) || !File.Exists(path))
        {
            return false;
        }

        var before = File.ReadAllText(path, HostTools.Utf8);
        var after = SetPasswordChangeDay(before, day);
        if (after == before)
        {
            return false;
        }

        // Written in place, so the file keeps its owner and its mode (0640, group shadow).
        using var file = new FileStream(path, FileMode.Truncate, FileAccess.Write);
        file.Write(HostTools.Utf8.GetBytes(after));
        return true;
    }

    private static bool RemoveFile(string root, string relative)
    {
        var path = Path.Combine(root, relative);
        var info = new FileInfo(path);
        if (!RootfsTrimmer.IsFreeOfLinks(root, Path.GetDirectoryName(relative)!)
            || (!info.Exists && info.LinkTarget is null))
        {
            return false;
        }

        info.Delete();
        return true;
    }
}
