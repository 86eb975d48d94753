using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Checks the VM settings before anything is built, needing neither root nor a download:
/// the format, the init, and the sizes and ports that must be whole numbers.
/// </summary>
public sealed class CheckVmSettingsTask : AsyncTask
{
    /// <summary>The formats a VM image can be written in.</summary>
    public static readonly IReadOnlyList<string> Formats = ["initramfs", "disk", "iso"];

    /// <summary>The inits a VM can run as PID 1.</summary>
    public static readonly IReadOnlyList<string> Inits = ["tiny", "systemd"];

    /// <summary>VmImageFormat: initramfs, disk or iso.</summary>
    public string Format { get; set; } = "initramfs";

    /// <summary>VmInit: tiny or systemd.</summary>
    public string Init { get; set; } = "tiny";

    /// <summary>Numeric settings as name and value: the item is the property's name and its
    /// <c>Value</c> metadata the text; <c>Minimum</c> and <c>Maximum</c> bound it.</summary>
    public ITaskItem[] Numbers { get; set; } = [];

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        Check(Format, Init, Numbers.Select(n => (n.ItemSpec, n.GetMetadata("Value"),
            long.Parse(n.GetMetadata("Minimum"), System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(n.GetMetadata("Maximum"), System.Globalization.CultureInfo.InvariantCulture))));
        return System.Threading.Tasks.Task.CompletedTask;
    }

    /// <summary>Throws the first setting that is wrong.</summary>
    public static void Check(string format, string init,
        IEnumerable<(string Name, string Value, long Minimum, long Maximum)> numbers)
    {
        if (!Formats.Contains(format))
        {
            throw new DtvException("VmFormatUnknown", format, string.Join(", ", Formats));
        }

        if (!Inits.Contains(init))
        {
            throw new DtvException("VmInitUnknown", init);
        }

        foreach (var (name, value, minimum, maximum) in numbers)
        {
            if (!long.TryParse(value, System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var number)
                || number < minimum || number > maximum)
            {
                throw new DtvException("VmNumberInvalid", name, value, minimum, maximum);
            }
        }
    }
}
