"""New business systems (新建业务系统, Art. 7): a catalog of the system's data before its project approval."""
