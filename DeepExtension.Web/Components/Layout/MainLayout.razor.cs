using MudBlazor;

namespace DeepExtension.Web.Components.Layout;

public partial class MainLayout
{
    private readonly MudTheme _theme = new();
    private MudThemeProvider? _themeProvider;
    private bool _drawerOpen = true;
    private bool _isDarkMode;
    // Set once the circuit is live: browser tests wait for it before clicking prerendered buttons.
    private bool _interactive;

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender && _themeProvider is not null)
        {
            // Start from the operating system's preference; the toggle overrides it for this session.
            _isDarkMode = await _themeProvider.GetSystemDarkModeAsync();
            _interactive = true;
            StateHasChanged();
        }
    }

    private void ToggleDrawer() => _drawerOpen = !_drawerOpen;

    private void ToggleTheme() => _isDarkMode = !_isDarkMode;
}
