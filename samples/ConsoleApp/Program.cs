using System.Runtime.InteropServices;

Console.WriteLine("Hello from DockerToVms");
Console.WriteLine($"Running on {RuntimeInformation.OSDescription}");
