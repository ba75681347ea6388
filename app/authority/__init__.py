"""The data authority's console (主管部门工作台): disputes and rectification notices of its level and below."""
