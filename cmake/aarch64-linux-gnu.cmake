# Cross-compiling for ARM64 Linux with Debian's cross toolchain (crossbuild-essential-arm64)
# against the arm64 multiarch development packages (libsqlite3-dev:arm64 ...), whose
# libraries live in /usr/lib/aarch64-linux-gnu. Programs run under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
# pkg-config (which FindOpenSSL asks first) reads the arm64 packages' .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
