import SpinLocks

print("LockValidator demo (the full tour arrives with the Examples)")
