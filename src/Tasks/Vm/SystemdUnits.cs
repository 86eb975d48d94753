using System.Globalization;
using System.Text;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// The systemd configuration of a VM whose PID 1 is systemd: a service that runs the app with
/// the image's command, environment, working directory and user, prints its exit code on the
/// console and powers the machine off when it ends; the kernel modules the machine needs;
/// and DHCP on the first ethernet interface through systemd-networkd.
/// </summary>
public static class SystemdUnits
{
    /// <summary>Where units installed by the image builder go, relative to the root.</summary>
    public const string UnitDirectory = "etc/systemd/system";

    /// <summary>The modules systemd loads at boot, relative to the root.</summary>
    public const string ModulesLoadFile = "etc/modules-load.d/dockertovms.conf";

    /// <summary>systemd-networkd's configuration for the first ethernet interface.</summary>
    public const string NetworkFile = "etc/systemd/network/50-dockertovms-ethernet.network";

    /// <summary>The console line the VM's log follows to learn the app's exit code.</summary>
    private const string ExitLine = "dockertovms: app exited with code $EXIT_STATUS";

    /// <summary>
    /// A unit name for the app: its name's letters, digits and <c>-_.</c>, in lower case;
    /// <c>app</c> when nothing is left.
    /// </summary>
    public static string ServiceName(string appName)
    {
        var name = new string([.. appName.ToLowerInvariant()
            .Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')]).Trim('.');
        return (name.Length == 0 ? "app" : name) + ".service";
    }

    /// <summary>The app's service unit.</summary>
    public static string AppService(AppLaunch launch, string description)
    {
        var unit = new StringBuilder();
        void Line(string text) => unit.Append(text).Append('\n');

        Line("[Unit]");
        Line("Description=" + Escape(description));
        Line("After=network.target");
        Line("Wants=network.target");

        // The machine exists to run the app: when the app ends, so does the machine, as a
        // container stops with its process.
        Line("SuccessAction=poweroff");
        Line("FailureAction=poweroff");
        Line(string.Empty);
        Line("[Service]");
        Line("Type=exec");
        Line("ExecStart=" + string.Join(' ', launch.Command.Select(Word)));

        // The line the build's console reader looks for, written with full privileges ('+'),
        // as only root may write to the console; the shell comes with systemd's base (this
        // root is not the trimmed one of the container image).
        Line("ExecStopPost=+/bin/sh -c " + Word($"echo \"{ExitLine}\" >/dev/console"));
        foreach (var variable in launch.Environment)
        {
            Line("Environment=" + Quote(variable, expandsVariables: false));
        }

        // A path setting takes the rest of the line as it stands: no quotes, only specifiers.
        Line("WorkingDirectory=" + Escape(launch.WorkingDirectory));
        Line("User=" + launch.UserId.ToString(CultureInfo.InvariantCulture));
        Line("Group=" + launch.GroupId.ToString(CultureInfo.InvariantCulture));
        Line("StandardOutput=journal+console");
        Line("StandardError=journal+console");
        Line(string.Empty);
        Line("[Install]");
        Line("WantedBy=multi-user.target");
        return unit.ToString();
    }

    /// <summary>
    /// systemd-modules-load's list of the modules the machine needs, by name: udev would load
    /// most of them when it sees the devices, the list makes sure they are there before the
    /// network starts.
    /// </summary>
    public static string ModulesLoadList(IReadOnlyList<string> modulePaths) =>
        string.Concat(modulePaths.Select(p => ModuleName(p) + "\n"));

    /// <summary>A module's name from its file: <c>virtio_net.ko.xz</c> is virtio_net.</summary>
    public static string ModuleName(string path)
    {
        var name = Path.GetFileName(path);
        var end = name.IndexOf(".ko", StringComparison.Ordinal);
        return end > 0 ? name[..end] : name;
    }

    /// <summary>DHCP on the first ethernet interface, which QEMU's user network answers.
    /// </summary>
    public static string EthernetNetwork() =>
        "[Match]\nType=ether\nKind=!*\n\n[Network]\nDHCP=yes\n";

    /// <summary>A word of a command line, quoted so systemd passes it on unchanged.</summary>
    public static string Word(string word) => Quote(word, expandsVariables: true);

    // Inside double quotes systemd reads C escapes, '%' specifiers and (in command lines) '$'
    // variables; each is doubled or escaped so the value arrives as written.
    private static string Quote(string value, bool expandsVariables)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in value)
        {
            quoted.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '%' => "%%",
                '$' when expandsVariables => "$$",
                '\n' => "\\n",
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    private static string Escape(string text) => text.Replace("%", "%%", StringComparison.Ordinal)
        .Replace('\n', ' ');
}
